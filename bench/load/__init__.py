"""The OCPP load benchmark's parts; bench/ocpp_load.py is its command line."""
