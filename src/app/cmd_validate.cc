#include "app/commands.h"

namespace hlsforge::app {
void RegisterValidate(CLI::App&) {}
}  // namespace hlsforge::app
