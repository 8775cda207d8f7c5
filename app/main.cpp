#include "app/application.hpp"

int main(int argc, char** argv) { return p2p::run_application(argc, argv); }
