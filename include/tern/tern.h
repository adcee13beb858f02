// Everything in tern's public API.
#pragma once

#include <tern/chat.h>
#include <tern/dummy.h>
#include <tern/error.h>
#include <tern/files.h>
#include <tern/generate.h>
#include <tern/gguf.h>
#include <tern/model.h>
#include <tern/sampler.h>
#include <tern/session.h>
#include <tern/system.h>
#include <tern/tokenizer.h>
#include <tern/types.h>
