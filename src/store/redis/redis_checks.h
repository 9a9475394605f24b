// What the gateway checks of a Redis deployment before it keeps money there,
// and how it names one in logs.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/redis/redis_client.h"

namespace tollgate::store::redis {

// Every master must persist each write before it answers and never evict a
// key: AOF on (appendonly yes) with appendfsync always, and maxmemory-policy
// noeviction. An evicted hold or an acknowledged write lost in a crash would
// lose money. Error "redis_not_durable" names the node and the setting.
core::Status check_durability(Client& client);

// The URL with any password replaced by "***", for logs.
std::string redact_url(std::string_view url);

}  // namespace tollgate::store::redis
