"""Personal data: customers' contact details are kept for the account's retention period, then
erased; an administrator can also erase one customer's on request."""
