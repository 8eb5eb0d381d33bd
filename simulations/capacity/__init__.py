"""Service-centre capacity: cases queueing for staff, run by a discrete-event engine.

``service_centre`` turns procedures into a process graph (``model``) and runs it with
the staff and arrivals of ``plans`` on the event engine (``engine``); ``prosimos`` reads
Prosimos scenarios into the same engine.
"""
