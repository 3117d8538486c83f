"""Pure XML models (no I/O, no sockets, imports nothing above ``errors``).

``pyvirt.conf.domain``: ``parse_domain(xml, *, inactive=False) -> DomainDef`` (parse, libvirt's
generic post-parse defaults, validation with libvirt's error codes) and
``format_domain(d, *, inactive=False, secure=False) -> str`` (libvirt's canonical layout).
Written by hand per element family rather than through a declarative layer: each family is a
dataclass plus a parse and a format function, which keeps parse+format cheap (define is a hot
path) and lets the formatter follow libvirt's element order exactly. XML the model does not
cover is kept verbatim (``extra`` lists, ``RawDeviceDef``) and re-emitted in libvirt's position.
"""
