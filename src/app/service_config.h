#pragma once
// Placeholder; the service configuration is written by the foundation work.
