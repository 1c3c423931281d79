// Placeholder registered by the proto change; its owner fills it.
#include <gtest/gtest.h>
