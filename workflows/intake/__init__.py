"""Where tickets come from besides the pages: e-mail intake and the channels a ticket may name."""
