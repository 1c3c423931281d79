// Message framing of RFC 9420 section 6: signing FramedContent, PublicMessage membership tags,
// PrivateMessage encryption with the secret tree and sender-data encryption.
// Thread-safety: free functions; SecretTree arguments are mutated (callers own a copy).
#pragma once

#include "cercle/mls/crypto.h"
#include "cercle/mls/key_schedule.h"
#include "cercle/mls/messages.h"

namespace cercle::mls {

// Signs `content` for `wire_format` with `signer` over FramedContentTBS (context included for
// member senders). confirmation_tag is left empty for the caller to fill.
AuthenticatedContent sign_content(WireFormat wire_format, FramedContent content,
                                  const SignaturePrivateKey& signer, const GroupContext& context);
// kVerify if the signature over FramedContentTBS does not verify with `signature_key`.
Status verify_content_signature(const AuthenticatedContent& content, BytesView signature_key,
                                const GroupContext& context);

// MAC(membership_key, AuthenticatedContentTBM).
Bytes membership_tag(const AuthenticatedContent& content, const Secret& membership_key,
                     const GroupContext& context);
// Wraps signed content as a PublicMessage (membership tag for member senders). kInvalid for
// application data, which RFC 9420 never sends as PublicMessage.
Result<PublicMessage> to_public_message(const AuthenticatedContent& content,
                                        const Secret& membership_key, const GroupContext& context);
// Checks the membership tag of a member's PublicMessage; returns its AuthenticatedContent.
Result<AuthenticatedContent> from_public_message(const PublicMessage& message,
                                                 const Secret& membership_key,
                                                 const GroupContext& context);

// Encrypts signed content as a PrivateMessage from `content.sender` with `padding` zero bytes.
Result<PrivateMessage> encrypt_private_message(const AuthenticatedContent& content,
                                               SecretTree& tree, const Secret& sender_data_secret,
                                               size_t padding = 0);
// Decrypts a PrivateMessage: kCrypto on AEAD failure, kDecode on malformed content or padding,
// kLimit on an unavailable generation. The signature is not checked here.
Result<AuthenticatedContent> decrypt_private_message(const PrivateMessage& message,
                                                     SecretTree& tree,
                                                     const Secret& sender_data_secret);

}  // namespace cercle::mls
