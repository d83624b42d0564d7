"""The bundled sample site: a generated doctorqna.com mirror and a loopback server for it."""
