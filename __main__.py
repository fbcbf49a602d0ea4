"""Pulumi entry point (`pulumi up`); `render` and `sandbox` run this same file under the mock runtime."""

from components.program import main

main()
