/* Calls a libcvqcard internal (cardlib/card_internal.h): must not link. */
int card_select(void *card);

int main(void)
{
	return card_select((void *)0);
}
