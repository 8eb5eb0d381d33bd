"""Files in and out: BPMN 2.0 models and event logs (XES, OCEL 2.0, CSV)."""
