"""The C loops (classifiers/_native.c); everything else is in pyproject.toml.

optional=True: without a C compiler the install goes on and the NumPy code does the counting.
The build is stamped with the source's SHA-256, which classifiers.native checks before use.
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "classifiers/_native.c"
DIGEST = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes()).hexdigest()

setup(
    ext_modules=[
        Extension(
            "classifiers._native",
            [SOURCE],
            define_macros=[("SOURCE_SHA256", f'"{DIGEST}"')],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
