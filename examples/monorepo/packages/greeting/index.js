export function greet(who) {
  return `Hello, ${who}, from a workspace package`;
}
