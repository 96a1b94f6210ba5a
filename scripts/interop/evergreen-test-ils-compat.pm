# Loaded into SIPServer by scripts/interop/evergreen-sipserver.sh (perl -MMuontraTestIlsCompat):
# the methods that SIPServer's message code (Sip/MsgType.pm) calls on the bundled test ILS's
# item and patron objects but the test ILS never had, because they came with Evergreen's
# extensions to the messages. Without them the server process dies on every checkin, patron
# information and item information ("Can't locate object method ...") and closes the link.
#
# Each returns what a plain Evergreen install without sort bins, holds or call numbers
# answers for an item on the shelf: nothing, which SIPServer's maybe_add() then leaves out
# of the answer. Written for muontra's interop tests; no SIPServer code is copied here.
package MuontraTestIlsCompat;

use strict;
use warnings;

use ILS::Item;
use ILS::Patron;

my %item_methods = (
    collection_code   => sub { '' },    # CR: no collections in the test ILS
    call_number       => sub { '' },    # CS: its items have no call numbers
    destination_loc   => sub { '' },    # CT: nothing in transit, no sort destination
    hold_patron_bcode => sub { '' },    # CY: no holds waiting
    hold_patron_name  => sub { '' },    # DA
);
my %patron_methods = (
    # XI: Evergreen's internal user id; the test ILS has only the barcode.
    internal_id => sub { $_[0]->{id} },
);

no strict 'refs';
for my $name (keys %item_methods) {
    *{"ILS::Item::$name"} = $item_methods{$name} unless ILS::Item->can($name);
}
for my $name (keys %patron_methods) {
    *{"ILS::Patron::$name"} = $patron_methods{$name} unless ILS::Patron->can($name);
}

1;
