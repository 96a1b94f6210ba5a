"""The return machine with sorting bins: the role `sorter`."""
