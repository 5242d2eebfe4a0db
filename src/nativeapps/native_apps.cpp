#include "nativeapps/native_apps.hpp"

#include "nativeapps/email_app.hpp"
#include "nativeapps/postgres_app.hpp"

namespace switchboard::nativeapps {

void RegisterNativeModules(engine::ModuleRegistry& registry, const NativeAppsOptions& options) {
    RegisterEmailModules(registry, options);
    RegisterPostgresModules(registry, options);
}

}  // namespace switchboard::nativeapps
