"""Where the packages come from. Everything else about the distribution is in pyproject.toml.

The repository keeps the design card's folders at the top (shared/, services/ beside storyreel/), but they
install under one name, `storyreel.shared` and `storyreel.services`, so nothing generic like `shared` or
`services` lands in site-packages. infra/ (the CDK app) is a repository tool and is not installed.
"""

from setuptools import find_packages, setup

MAPPED = {"storyreel.shared": "shared", "storyreel.services": "services"}

packages = find_packages(include=["storyreel", "storyreel.*"])
for name, folder in MAPPED.items():
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]

setup(packages=packages, package_dir=MAPPED)
