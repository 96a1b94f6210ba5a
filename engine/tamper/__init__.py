"""Device tampering (issue 15), for every role: kiosk, gate and return machine.

What a person with a screwdriver or a laptop does to a device in a public hall,
each turned into a ``security`` event through :class:`engine.security.reporter.SecurityReporter`
(rate-limited, fields from the closed list of ``protocols.mqtt.security_schema``):

- :mod:`engine.tamper.devices`: a reader, printer or PLC lost during opening hours
  (:mod:`engine.tamper.hours`), heard from the health events each role already publishes;
- :mod:`engine.tamper.case`: the case or door switch on a gpio input;
- :mod:`engine.tamper.config_file`: the config file changed on disk without a ``reload``;
- :mod:`engine.tamper.clock_jump`: the wall clock moved against the monotonic one;
- :mod:`engine.tamper.afi`: a tag whose AFI is neither of the site's two values
  (the gate's and the sorter's tag checks share it);
- :mod:`engine.tamper.guard`: all of the above assembled from the ``[tamper]`` section.
"""
