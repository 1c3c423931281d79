// Placeholder registered by the proto change; its owner fills it.
namespace cercle::domain {}  // namespace cercle::domain
