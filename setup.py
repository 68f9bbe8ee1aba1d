"""The C counting loops (classifiers/_native.c); everything else is in pyproject.toml.

optional=True: without a C compiler the install goes on and the NumPy code does the counting.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "classifiers._native",
            ["classifiers/_native.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
