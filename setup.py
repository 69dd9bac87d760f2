"""Build the optional compiled event core of kizuna.networking (metadata is in pyproject.toml).

The extension is optional: where it does not compile, Kizuna installs anyway and the network
engine runs on its pure-Python core.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kizuna.networking._evcore",
            sources=["src/kizuna/networking/_evcore.c"],
            optional=True,
        )
    ]
)
