#pragma once
// The tests' fake forge is mergeyard's local forge (src/forge/local), under
// the names the tests were written with.

#include "forge/local/local_forge.h"

namespace mergeyard::testing {

using FakeForge = forge::LocalForge;
using FakeFlavor = forge::LocalFlavor;
using FakePull = forge::LocalPull;
using FakeComment = forge::LocalComment;
using FakeStatus = forge::LocalStatus;
using Fault = forge::LocalFault;

}  // namespace mergeyard::testing
