"""Recording a call with both sides' consent (recorder.py); media/ holds no more modules."""
