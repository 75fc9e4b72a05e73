"""Domain services: every business rule, as verb_noun functions per domain module.

Services never commit: the entry point (request, OCPP message or batch, SOAP call,
job) does. A service flushes when it needs what the database gives back (a new row's
id, a constraint it turns into a DomainError); other writes are flushed by the
entry point's commit, so the station messages of one batch reach the database
together rather than message by message (docs/ocpp-performance.md). On the station
message path even a new id is taken without a flush: `charging.start_session`
inserts its one row itself and adds it to the unit of work as persistent.
"""
