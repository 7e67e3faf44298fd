// Paging through a search by its page tokens (MLflow's and /api/v1's lists): the tokens of
// the pages seen so far make Previous possible, since the APIs only hand out Next.
import { useState } from "preact/hooks";

/** Paging by tokens: the tokens of the pages seen so far, reset when the key changes. */
export function usePaging(key: string) {
  const [paging, setPaging] = useState({ key, tokens: [""] });
  const tokens = paging.key === key ? paging.tokens : [""];
  return {
    token: tokens[tokens.length - 1],
    index: tokens.length - 1,
    prev: tokens.length > 1 ? () => setPaging({ key, tokens: tokens.slice(0, -1) }) : undefined,
    next: (t: string | undefined) => (t ? () => setPaging({ key, tokens: [...tokens, t] }) : undefined),
  };
}

export function Pager({ from, count, what, prev, next }: { from: number; count: number; what: string; prev?: () => void; next?: () => void }) {
  if (!prev && !next) return null;
  return (
    <div class="pager">
      <span class="muted">
        {what} {from + 1}–{from + count}
      </span>
      <button data-testid="prev-page" disabled={!prev} onClick={prev}>
        ← Previous
      </button>
      <button data-testid="next-page" disabled={!next} onClick={next}>
        Next →
      </button>
    </div>
  );
}
