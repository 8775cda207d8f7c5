// Linked with every object of one lib/ folder (whole archive) and nothing but
// the libraries that folder declares below it: if any of its code needs a
// symbol from elsewhere, this program fails to link. Running it proves nothing
// more, so it only exits.
int main() { return 0; }
