"""The search engine: space, samplers, objectives, the ask-and-tell loop and the durable study.

It scores points only through the task (or hardware-grid scorer) it is given: it imports neither
hw nor models nor dse.app nor dse.results (tests/test_layout.py).
"""
