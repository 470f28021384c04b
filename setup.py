"""The package's dependencies are requirements.txt's runtime section (everything above
its "# Tests" line, as the Dockerfile reads it), so the pins CI tests with are the pins
``pip install .`` installs, kept in one list. The rest is in pyproject.toml."""
import pathlib
import re

from setuptools import setup


def runtime_requirements():
    lines = (pathlib.Path(__file__).parent / "requirements.txt").read_text(encoding="utf-8").splitlines()
    wanted = []
    for line in lines:
        if re.match(r"#\s*tests", line, re.IGNORECASE):
            break
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            wanted.append(requirement)
    return wanted


setup(install_requires=runtime_requirements())
