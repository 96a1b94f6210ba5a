"""The journaled circulation steps every role needs: checkout, checkin, security, replay and
reconciliation after a crash (the kiosk and the return machine share them)."""
