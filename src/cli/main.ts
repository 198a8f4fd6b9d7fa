export async function main(_argv: string[]): Promise<number> {
  console.error('maestro: the command line is not assembled yet');
  return 1;
}
