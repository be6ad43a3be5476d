import { type ReactNode, useEffect, useRef, useState } from 'react';

export interface SecretRevealProps {
  title: string;
  secret: string;
  children?: ReactNode;
  onDismiss(): void;
}

/**
 * Shows a secret once. Dismissing unmounts it, so no copy of the secret stays in the page; the
 * copy button uses the clipboard API, or selects the text for a manual copy where that is missing.
 */
export function SecretReveal({ title, secret, children, onDismiss }: SecretRevealProps) {
  const codeRef = useRef<HTMLElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [copyState, setCopyState] = useState<'idle' | 'copied' | 'manual'>('idle');

  useEffect(() => {
    headingRef.current?.focus();
  }, []);

  async function copy() {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(secret);
      setCopyState('copied');
    } catch {
      const code = codeRef.current;
      const selection = window.getSelection();
      if (code && selection) {
        const range = document.createRange();
        range.selectNodeContents(code);
        selection.removeAllRanges();
        selection.addRange(range);
      }
      setCopyState('manual');
    }
  }

  function dismiss() {
    window.getSelection()?.removeAllRanges();
    onDismiss();
  }

  return (
    <section className="panel secret" aria-labelledby="secret-title">
      <h2 id="secret-title" ref={headingRef} tabIndex={-1}>
        {title}
      </h2>
      <p>
        This secret is shown <strong>once</strong>. Store it now: the receiver keeps it encrypted and will not show it
        again.
      </p>
      <div className="secret-row">
        <code ref={codeRef} className="secret-value" data-testid="secret-value">
          {secret}
        </code>
        <button type="button" className="button secondary" onClick={copy}>
          Copy secret
        </button>
      </div>
      <p role="status" className="hint">
        {copyState === 'copied'
          ? 'Copied to the clipboard.'
          : copyState === 'manual'
            ? 'The clipboard is not available here: the secret is selected, copy it with your keyboard.'
            : ''}
      </p>
      {children}
      <div className="actions">
        <button type="button" className="button primary" onClick={dismiss}>
          I have stored it: hide the secret
        </button>
      </div>
    </section>
  );
}
