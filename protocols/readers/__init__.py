"""Frame codecs of RFID readers' serial protocols, sans-IO."""
