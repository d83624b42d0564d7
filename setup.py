"""The package's one compiled module: the native line pass (qa_crawler/parsers/_linewalk.pyx).

Everything else is declared in pyproject.toml. The module reads lxml's tree through lxml's own
Cython declarations and headers (shipped in lxml's wheels), so it needs Cython, lxml and a C
compiler at build time; the pure-Python reader stays as its reference, and is what reads the
pages where the module could not be built (``optional``: no compiler, the install goes on).
"""

import lxml
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "qa_crawler.parsers._linewalk", ["qa_crawler/parsers/_linewalk.pyx"],
    include_dirs=lxml.get_include(), optional=True,
)])
