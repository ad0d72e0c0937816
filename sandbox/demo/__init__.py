"""The demo's story: ``orgguard demo`` on the embedded AWS.

``demo.Demo.run`` builds the world (``sandbox.world``) on a started embedded AWS (``sandbox.aws``), rolls out the
spoke, then plays the ``stories`` (what people do in member accounts, what OrgGuard must do, how to tell) and checks
the outcome; ``progress`` shows the steps on stderr. ``commands/demo.py`` prints the result.
"""
