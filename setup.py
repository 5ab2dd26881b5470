"""The packaging rule pyproject.toml cannot state: the repository's top-level conf/ (Hydra's configs)
ships in the wheel as the package `pimdse_conf`, found at run time with importlib.resources
(spec.conf); models/ ships its quick-mode calibration (quick_fit.json) beside its code, and
dse/results/explorer its page template, script and style.
pyproject.toml's `packages.find` cannot rename a directory, so the package list is built here;
everything else (metadata, dependencies, scripts) is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

CONF_PACKAGE = "pimdse_conf"
CODE = find_namespace_packages(include=["dse*", "hw*", "models*", "spec*", "hydra_plugins*"])
CONF = [CONF_PACKAGE, *(f"{CONF_PACKAGE}.{group}" for group in find_namespace_packages(where="conf"))]

setup(
    packages=CODE + CONF,
    package_dir={CONF_PACKAGE: "conf"},
    package_data={
        **{package: ["*.yaml"] for package in CONF},
        "models": ["*.json"],
        "dse.results.explorer": ["page.html", "page.js", "page.css"],
    },
)
