"""Service-centre capacity: cases queueing for staff, run by a discrete-event engine.

``service_centre`` turns procedures, staff and arrivals into a process graph
(``model``) and runs it on the event engine (``engine``); ``prosimos`` reads Prosimos
scenarios into the same engine.
"""
