"""The link to the library system (ILS): the SIP2 client, tools and the simulator."""
