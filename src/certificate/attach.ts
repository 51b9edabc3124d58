/**
 * A certificate printed to PDF carries its evidence as an attached file (a PDF's embedded
 * file: a reader's attachments panel, or `pdfdetach`), as the HTML one carries it in a script
 * element: printing drops the element, and a court is often handed the PDF alone.
 */
import { PDFDocument } from '@cantoo/pdf-lib';

/** The PDF with `json` attached as `name`. */
export async function attachJson(pdf: Uint8Array, name: string, json: string, description: string, when: Date): Promise<Uint8Array> {
  const doc = await PDFDocument.load(pdf);
  await doc.attach(new TextEncoder().encode(json), name, { mimeType: 'application/json', description, creationDate: when, modificationDate: when });
  return doc.save();
}
