"""The pipeline every guardrail Lambda runs, one module per stage: parse (``handlers.events``), gate
(``gate``: must this event be evaluated at all?), claim (``handlers.audit``: exactly once), decide and act
(``decide``: read, evaluate and fix through the guardrail, then render the e-mail that is due), record and
notify (``deliver``: the final record before the e-mail, storm control, at most once). ``handlers.engine``
runs them in order for one delivery (``process``); ``Processed`` is what it returns."""
