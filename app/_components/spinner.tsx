/** The loading state of one fragment, shown until its HTML streams in. */
export function Spinner({ label }: { label: string }) {
  return (
    <>
      <div className="spinner" role="status" aria-label={label}>
        {/* Inline and turned by CSS rather than SMIL inside an image, so that prefers-reduced-motion can stop it. */}
        <svg
          className="spinner-graphic"
          width="32"
          height="32"
          viewBox="0 0 32 32"
          aria-hidden="true"
          focusable="false"
        >
          <circle className="spinner-track" cx="16" cy="16" r="12" />
          <path className="spinner-arc" d="M16 4a12 12 0 0 1 12 12" />
        </svg>
        <span aria-hidden="true">Loading…</span>
      </div>
      {/* Without JavaScript no script moves the part here: public/noscript.css shows this instead of the spinner. */}
      <p className="spinner-noscript" hidden>
        This part appears at the end of the page once it is ready.
      </p>
    </>
  );
}
