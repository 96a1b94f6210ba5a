"""Sans-IO codecs: SIP2, RFID tag data, reader frames, MQTT payloads.

Standard library only: no sockets, threads, clocks, or logging of patron data.
"""
