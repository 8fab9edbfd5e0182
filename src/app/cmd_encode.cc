#include "app/commands.h"

namespace hlsforge::app {
void RegisterEncode(CLI::App&) {}
}  // namespace hlsforge::app
