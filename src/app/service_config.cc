#include "app/service_config.h"
