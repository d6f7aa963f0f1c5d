/**
 * Copies text exactly as given. The Clipboard API needs a secure context (https, or localhost);
 * a dashboard served over plain http on a LAN address falls back to a selected, off-screen
 * textarea and the older copy command.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    const focused = document.activeElement as HTMLElement | null;
    document.body.append(area);
    area.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    } finally {
      area.remove();
      focused?.focus();
    }
  }
}
