"""The pimdse app: the Hydra entry point (`pimdse`, dse.app.pimdse), `python -m dse.eval`, and the
scoring of one design point. Empty on purpose: the sweeper imports dse.app.provenance without hw/models."""
