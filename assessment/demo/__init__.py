"""The demo county: a synthetic Pingyin County with a stated true model (see docs/demo.md)."""
