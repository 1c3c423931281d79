#include "proto/wire.h"

#include <algorithm>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/unknown_field_set.h>

namespace cercle::wire {

namespace {

void append_short(std::string& out, std::string_view bytes) {
  const size_t n = std::min<size_t>(bytes.size(), 255);
  out.push_back(static_cast<char>(n));
  out.append(bytes.substr(0, n));
}

}  // namespace

std::string auth_transcript(std::string_view instance_id, std::string_view challenge,
                            uint32_t protocol_version) {
  std::string out;
  out.reserve(kAuthLabel.size() + 3 + instance_id.size() + challenge.size() + 4);
  out.append(kAuthLabel);
  out.push_back('\0');
  append_short(out, instance_id);
  append_short(out, challenge);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((protocol_version >> shift) & 0xff));
  }
  return out;
}

std::string first_unknown_field(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const auto* reflection = message.GetReflection();
  const auto& unknown = reflection->GetUnknownFields(message);
  if (!unknown.empty()) {
    return message.GetDescriptor()->full_name() + "#" + std::to_string(unknown.field(0).number());
  }
  // Only set fields are visited: an unset sub-message cannot hold unknown fields.
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      const int n = reflection->FieldSize(message, field);
      for (int i = 0; i < n; ++i) {
        auto path = first_unknown_field(reflection->GetRepeatedMessage(message, field, i));
        if (!path.empty()) return path;
      }
    } else {
      auto path = first_unknown_field(reflection->GetMessage(message, field));
      if (!path.empty()) return path;
    }
  }
  return {};
}

}  // namespace cercle::wire
