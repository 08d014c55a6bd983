//! Ordinary English words that are also plausible brand names.
//!
//! Under [`CaseRule::Auto`](crate::model::CaseRule::Auto) a name or alias whose lowercase
//! form is in this list must appear with its exact capitalisation, so the CRM "Close" does
//! not fire on "close the deal" and "Notion" not on "a notion". The list favours words that
//! are brand names somewhere (close, notion, monday, apple, slack, zoom, linear, stripe...)
//! plus weekdays, months and frequent function words. It is sorted so lookups can binary
//! search; a unit test keeps it sorted, lowercase and free of duplicates.

/// Sorted, lowercase, unique.
#[rustfmt::skip]
pub(crate) static COMMON_WORDS: &[&str] = &[
    "a", "about", "above", "act", "action", "active", "adobe", "after", "again", "against", "age", "agent",
    "aim", "air", "alarm", "alert", "all", "alpha", "also", "always", "amber", "an", "anchor", "and", "angel",
    "any", "apollo", "apple", "april", "arc", "arch", "area", "arrow", "art", "as", "asana", "ask", "at",
    "atlas", "attic", "august", "aura", "auto", "autumn", "away", "back", "badge", "balance", "ball", "band",
    "bank", "bar", "base", "basic", "basket", "be", "beacon", "beam", "bear", "beat", "bee", "being", "bell",
    "below", "best", "better", "between", "beyond", "big", "bird", "bit", "black", "blade", "blend", "block",
    "bloom", "blossom", "blue", "board", "boat", "body", "bold", "bolt", "bond", "book", "boost", "boot",
    "border", "both", "bounce", "box", "brain", "branch", "brand", "brave", "bread", "break", "breeze", "brick",
    "bridge", "bright", "bring", "broad", "brook", "brush", "bubble", "buck", "buddy", "buffer", "build",
    "bulb", "bullet", "bundle", "burst", "bus", "but", "buzz", "by", "cable", "cactus", "cake", "call", "calm",
    "camp", "can", "canal", "candle", "candy", "canvas", "cap", "capital", "car", "card", "care", "cargo",
    "carrot", "carry", "cart", "case", "cash", "castle", "cat", "catch", "cause", "cedar", "cell", "center",
    "chain", "chair", "chalk", "champion", "chance", "change", "channel", "chapter", "charge", "chart", "chase",
    "chat", "check", "cheer", "cherry", "chess", "chief", "chime", "chip", "choice", "circle", "citizen",
    "city", "civic", "claim", "class", "clay", "clean", "clear", "click", "cliff", "climb", "clip", "clock",
    "close", "cloud", "clover", "club", "coach", "coast", "coat", "coda", "code", "coin", "cold", "collect",
    "color", "comet", "command", "common", "compass", "complete", "con", "concept", "connect", "copper",
    "coral", "core", "corner", "cost", "could", "count", "country", "course", "cover", "craft", "crane",
    "credit", "crest", "crew", "cricket", "crop", "cross", "crown", "crystal", "cube", "cup", "current",
    "curve", "custom", "cut", "cycle", "daily", "dairy", "dash", "data", "date", "dawn", "day", "deal", "dear",
    "december", "deck", "deep", "deer", "delta", "den", "depot", "desk", "detail", "dial", "diamond", "did",
    "digit", "direct", "discord", "dish", "do", "dock", "does", "dollar", "domain", "done", "door", "dot",
    "dove", "down", "draft", "dragon", "drift", "drill", "drive", "drop", "drum", "dune", "dust", "each",
    "eagle", "early", "earth", "east", "easy", "echo", "edge", "effect", "egg", "eight", "elastic", "element",
    "elephant", "elite", "else", "ember", "empire", "end", "energy", "engine", "enter", "envoy", "epic",
    "equal", "equity", "essential", "even", "event", "ever", "every", "evident", "exact", "expert", "express",
    "eye", "fable", "fabric", "face", "fact", "factory", "fair", "faith", "falcon", "fall", "family", "fan",
    "far", "farm", "fast", "father", "feather", "feature", "february", "feed", "fellow", "fence", "few",
    "field", "figure", "file", "fill", "film", "finch", "find", "fine", "fire", "first", "fish", "fit", "five",
    "fix", "flag", "flame", "flash", "fleet", "flex", "flight", "flint", "float", "flock", "flow", "flower",
    "fluent", "flux", "fly", "focus", "fold", "folk", "follow", "for", "force", "forest", "forge", "form",
    "fort", "forum", "forward", "fox", "frame", "free", "fresh", "friday", "friend", "from", "front", "frost",
    "fruit", "fuel", "full", "fun", "fund", "fusion", "future", "gain", "galaxy", "game", "gap", "garden",
    "gate", "gather", "gauge", "gear", "gem", "general", "genius", "ghost", "giant", "gift", "ginger", "glass",
    "glide", "globe", "glow", "go", "goal", "gold", "golf", "gong", "good", "grace", "grade", "grain", "grand",
    "graph", "grass", "gravity", "great", "green", "grid", "grove", "grow", "guard", "guide", "guild", "gulf",
    "habit", "half", "hall", "hammer", "hand", "handle", "happy", "harbor", "hard", "harmony", "harvest", "has",
    "have", "haven", "hawk", "he", "head", "heart", "heat", "height", "help", "her", "here", "hero", "hey",
    "high", "hill", "hint", "hire", "his", "hive", "hold", "home", "honey", "hook", "hope", "horizon", "horse",
    "host", "hot", "hour", "house", "how", "hub", "hue", "human", "hunt", "i", "ice", "icon", "idea", "if",
    "image", "impact", "in", "index", "indigo", "infinity", "ink", "inn", "insight", "inspire", "intercom",
    "into", "iron", "is", "island", "it", "item", "its", "ivy", "jade", "jam", "january", "jar", "jet", "jewel",
    "job", "join", "journey", "joy", "judge", "juice", "july", "jump", "june", "jungle", "just", "keen", "keep",
    "kettle", "key", "kind", "king", "kit", "kite", "knack", "knot", "know", "lab", "label", "lace", "ladder",
    "lake", "lamp", "land", "lane", "lantern", "large", "laser", "last", "launch", "lava", "law", "layer",
    "lead", "leaf", "lean", "learn", "ledger", "left", "lemon", "lens", "less", "let", "letter", "level",
    "lever", "lift", "light", "like", "lime", "line", "linear", "link", "lion", "list", "little", "live",
    "loan", "lock", "lodge", "loft", "logic", "long", "look", "loom", "loop", "lot", "lotus", "loud", "love",
    "low", "loyal", "luck", "lumen", "luna", "machine", "made", "magic", "magnet", "maid", "mail", "main",
    "major", "make", "maker", "mango", "map", "maple", "marble", "march", "market", "mars", "mask", "mass",
    "master", "match", "matter", "may", "maze", "me", "meadow", "medium", "meet", "member", "memo", "mercury",
    "merit", "mesh", "message", "metal", "meter", "method", "metro", "middle", "might", "mild", "mile", "mill",
    "mind", "mine", "mint", "mirror", "mission", "mix", "mode", "model", "moment", "monday", "money", "monitor",
    "month", "moon", "more", "morning", "mosaic", "most", "mother", "motion", "mount", "mountain", "mouse",
    "move", "much", "my", "name", "native", "nature", "navy", "near", "neat", "need", "nest", "net", "network",
    "new", "news", "next", "nice", "night", "nimble", "nine", "no", "noble", "node", "none", "north", "not",
    "note", "notion", "nova", "november", "now", "number", "nut", "oak", "oasis", "ocean", "october", "odd",
    "of", "off", "offer", "office", "often", "oil", "old", "olive", "on", "once", "one", "only", "open",
    "optimal", "option", "or", "oracle", "orange", "orbit", "order", "origin", "other", "our", "out",
    "outreach", "over", "owl", "own", "pace", "pack", "page", "paint", "pair", "palm", "panel", "paper",
    "parade", "park", "part", "party", "pass", "past", "patch", "path", "pattern", "pay", "peace", "peak",
    "pearl", "pebble", "pen", "pencil", "people", "pepper", "perfect", "period", "person", "phase", "phone",
    "pick", "picture", "piece", "pilot", "pine", "pink", "pioneer", "pipe", "pitch", "pivot", "pixel", "place",
    "plaid", "plain", "plan", "planet", "plant", "plate", "play", "plaza", "pledge", "plum", "plus", "pocket",
    "point", "polar", "pole", "pond", "pool", "pop", "port", "post", "pot", "power", "practice", "present",
    "press", "prime", "print", "prism", "pro", "product", "profile", "project", "promise", "proof", "prop",
    "proper", "pulse", "pump", "pure", "purple", "push", "put", "quest", "quick", "quiet", "quill", "quote",
    "race", "radar", "radius", "rain", "rainbow", "raise", "ramp", "range", "rapid", "rate", "raven", "raw",
    "ray", "reach", "read", "ready", "real", "realm", "record", "red", "reef", "reflect", "relay", "remote",
    "rest", "rich", "ride", "ridge", "right", "ring", "rise", "river", "road", "robin", "rock", "rocket",
    "role", "roll", "roof", "room", "root", "rope", "rose", "round", "route", "row", "royal", "ruby", "rule",
    "run", "rush", "safe", "sage", "sail", "salt", "same", "sand", "saturday", "save", "say", "scale", "scene",
    "school", "scope", "score", "scout", "sea", "seal", "season", "seat", "second", "secure", "see", "seed",
    "select", "sense", "september", "serve", "set", "seven", "shade", "shadow", "shape", "share", "sharp",
    "she", "shell", "shield", "shift", "shine", "ship", "shop", "short", "should", "show", "side", "sight",
    "sign", "signal", "silver", "simple", "since", "single", "site", "six", "size", "sketch", "sky", "slack",
    "slate", "sleep", "slice", "slide", "slim", "slope", "small", "smart", "smile", "smooth", "snap", "snow",
    "so", "soft", "soil", "solar", "solid", "some", "song", "soon", "sound", "source", "south", "space",
    "spark", "speak", "spear", "spectrum", "speed", "sphere", "spice", "spin", "spirit", "split", "spoke",
    "spot", "spring", "sprout", "spruce", "square", "stable", "stack", "stage", "stamp", "stand", "star",
    "start", "state", "station", "stay", "steady", "steel", "stem", "step", "stick", "still", "stitch", "stock",
    "stone", "stop", "store", "storm", "story", "stream", "street", "stride", "strike", "stripe", "strong",
    "studio", "such", "sugar", "suit", "summer", "summit", "sun", "sunday", "sunny", "super", "supply", "sure",
    "surf", "swift", "switch", "sync", "system", "table", "tag", "tail", "take", "tale", "talk", "tall", "tank",
    "tap", "target", "task", "taste", "tea", "team", "teams", "tech", "tell", "temple", "ten", "term", "test",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "thing", "things", "think",
    "this", "those", "thread", "three", "thrive", "through", "thursday", "tide", "tiger", "tile", "time",
    "tiny", "tip", "title", "to", "today", "together", "token", "tone", "too", "tool", "top", "torch", "total",
    "touch", "tower", "town", "toy", "trace", "track", "trade", "trail", "train", "transit", "trash", "travel",
    "tree", "trek", "trend", "trial", "tribe", "trip", "true", "trust", "truth", "try", "tuesday", "tulip",
    "tune", "turn", "twin", "two", "type", "under", "union", "unit", "unity", "up", "upon", "upper", "urban",
    "us", "use", "user", "valley", "value", "van", "vault", "vector", "velvet", "venture", "verse", "very",
    "via", "view", "villa", "vine", "violet", "vision", "visit", "vista", "vital", "voice", "volt", "vote",
    "voyage", "wagon", "wait", "walk", "wall", "wander", "want", "warm", "wave", "way", "we", "wealth",
    "weather", "web", "wednesday", "week", "well", "west", "what", "wheel", "when", "where", "which", "while",
    "white", "who", "whole", "why", "wide", "wild", "will", "win", "wind", "window", "wing", "winter", "wire",
    "wise", "wish", "with", "wizard", "wolf", "wonder", "wood", "word", "work", "world", "would", "wrap",
    "write", "yard", "year", "yellow", "yes", "yet", "you", "young", "your", "zen", "zero", "zest", "zone",
    "zoom",
];

/// Whether `lower` (already lowercased) is an ordinary English word of the built-in list.
pub(crate) fn is_common_word(lower: &str) -> bool {
    COMMON_WORDS.binary_search(&lower).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_lowercase_and_unique() {
        for pair in COMMON_WORDS.windows(2) {
            assert!(pair[0] < pair[1], "{:?} must sort before {:?}", pair[0], pair[1]);
        }
        for w in COMMON_WORDS {
            assert_eq!(*w, w.to_lowercase(), "{w:?} must be lowercase");
        }
        assert!(COMMON_WORDS.len() > 1000);
    }

    #[test]
    fn trap_words_are_listed() {
        for w in [
            "close", "notion", "monday", "apple", "you", "zoom", "slack", "box", "square", "stripe",
        ] {
            assert!(is_common_word(w), "{w}");
        }
        assert!(!is_common_word("hubspot"));
        assert!(!is_common_word("Close"), "callers lowercase first");
    }
}
